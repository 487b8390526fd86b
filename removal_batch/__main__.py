from removal_batch.cli import main

main()
