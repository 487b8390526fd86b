from removal_batch.cli import entry

entry()
