package codegen

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	microgw "github.com/micro-gw/micro-gw"
)

// The cache folder of micro-gw (Builder.CacheDir) holds
//
//	src/<hash>/        the runtime source a toolkit carries, unpacked once (UnpackSource)
//	gen/<project key>/ the generated package of each project (ProjectKey), kept
//	                   so that the next build of the project finds the Go build cache warm
//
// Every build of a new project, or by a new toolkit, adds a folder; PruneCache
// removes the ones no later build can reuse.
const (
	genDirName = "gen"
	// projectMarker, in a gen folder, holds the absolute root of its project.
	projectMarker = ".micro-gw-project"
	// pruneGrace is how recent a folder that looks unused must be to be kept
	// anyway: another build, perhaps by another toolkit, may be filling it.
	pruneGrace = time.Hour
)

// MarkGenDir records in genDir that it holds the generated package of the
// project at root, so that PruneCache can tell when the project is gone.
func MarkGenDir(genDir, root string) error {
	return os.WriteFile(filepath.Join(genDir, projectMarker), []byte(root+"\n"), 0o644)
}

// PruneCache removes from cacheDir what no later build can reuse: the gen
// folder of a project that no longer exists (or of unknown project, written
// before projects were recorded), and the unpacked source that no remaining
// gen folder compiles against. A folder changed within the last hour is kept
// whatever it looks like. It returns the folders removed; a folder it cannot
// remove is left for the next build.
func PruneCache(cacheDir string, now time.Time) []string {
	var removed []string
	remove := func(dir string) {
		if os.RemoveAll(dir) == nil {
			removed = append(removed, dir)
		}
	}
	recent := func(dir string) bool {
		fi, err := os.Stat(dir)
		return err == nil && now.Sub(fi.ModTime()) < pruneGrace
	}

	inUse := map[string]bool{}
	gens, _ := os.ReadDir(filepath.Join(cacheDir, genDirName))
	for _, e := range gens {
		dir := filepath.Join(cacheDir, genDirName, e.Name())
		if !e.IsDir() {
			continue
		}
		if root, err := os.ReadFile(filepath.Join(dir, projectMarker)); err == nil {
			if _, err := os.Stat(strings.TrimSpace(string(root))); errors.Is(err, fs.ErrNotExist) {
				remove(dir)
				continue
			}
		} else if !recent(dir) {
			remove(dir)
			continue
		}
		if src := replacedSource(filepath.Join(dir, "go.mod")); src != "" {
			inUse[filepath.Clean(src)] = true
		}
	}

	srcParent := filepath.Join(cacheDir, sourceDirName)
	srcs, _ := os.ReadDir(srcParent)
	for _, e := range srcs {
		dir := filepath.Join(srcParent, e.Name())
		if e.IsDir() && !inUse[dir] && !recent(dir) {
			remove(dir)
		}
	}
	return removed
}

// replaceLine finds the toolkit module's replace directive in a generated
// go.mod (GoMod): the folder of the unpacked source, quoted or not.
var replaceLine = regexp.MustCompile(`(?m)^replace ` + regexp.QuoteMeta(microgw.ModulePath) + ` => ("(?:[^"\\]|\\.)*"|\S+)\s*$`)

// replacedSource returns the source folder the go.mod at path compiles
// against, empty when it has none.
func replacedSource(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	m := replaceLine.FindSubmatch(data)
	if m == nil {
		return ""
	}
	dir := string(m[1])
	if strings.HasPrefix(dir, `"`) {
		var err error
		if dir, err = strconv.Unquote(dir); err != nil {
			return ""
		}
	}
	return dir
}
