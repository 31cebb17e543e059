from intranet_metrics.cli import main

main()
