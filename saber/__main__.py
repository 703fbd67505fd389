import sys

from saber.cli import main

sys.exit(main())
