from npmguard.cli import entry

entry()
