// Command micro-gw is the toolkit: it scaffolds projects and builds gateways.
package main

import (
	"os"

	"github.com/micro-gw/micro-gw/pkg/cmd/root"
)

func main() { os.Exit(root.Main()) }
