module github.com/trustly-sidecar/trustly-sidecar

go 1.26
