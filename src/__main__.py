import sys

from aigateway.entrypoints.cli.main import main

sys.exit(main())
