from tlh.cli.main import main

main()
