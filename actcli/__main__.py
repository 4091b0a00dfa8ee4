from actcli.cli.main import main

main()
