from trelink.cli import main

main()
