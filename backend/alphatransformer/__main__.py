from alphatransformer.cli import main

main()
