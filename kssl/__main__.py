from kssl.cli import main

main()
