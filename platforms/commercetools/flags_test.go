package commercetools_test

import "flag"

var updateFlag = flag.Bool("update", false, "rewrite the golden files in testdata")
