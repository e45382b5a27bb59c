import sys

from jacobian_harness.cli import main

sys.exit(main())
