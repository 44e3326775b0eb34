import sys

from npmguard.cli import main

sys.exit(main())
