"""`python -m spacy_xmr ...`: the `spacy-xmr` command line, for environments without the console script."""
from .cli import main

main()
