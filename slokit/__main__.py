from slokit.cli import main

main()
