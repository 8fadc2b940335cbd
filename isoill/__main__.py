from isoill.cli import main

main()
