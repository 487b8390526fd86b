"""Order and line rules: one module per family, each rule raising one stable code."""
