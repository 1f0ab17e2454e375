"""`python -m steve1.quickstart` = `steve1 quickstart`."""
import sys

from steve1.quickstart.run import main

sys.exit(main())
