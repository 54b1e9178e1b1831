// Command gateway runs a gateway executable built by micro-gw with its
// project's configuration.
package main

import (
	"os"

	"github.com/micro-gw/micro-gw/pkg/launcher"
)

func main() { os.Exit(launcher.Main()) }
