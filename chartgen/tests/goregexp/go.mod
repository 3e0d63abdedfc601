module iter8.dev/chartgen/goregexp-oracle

go 1.24
