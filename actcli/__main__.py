from actcli.cli import main

main()
