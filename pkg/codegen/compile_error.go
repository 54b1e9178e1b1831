package codegen

import (
	"errors"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// CompileError is a go build that failed; Output is the compiler's output
// with positions in the project's files.
type CompileError struct {
	Output string
}

func (e *CompileError) Error() string {
	return "compilation failed:\n" + strings.TrimRight(e.Output, "\n")
}

// ErrOfflineModules is wrapped by the error of an --offline build whose
// module cache lacks a module the gateway needs.
var ErrOfflineModules = errors.New("--offline: the Go module cache lacks modules the gateway needs")

// offlineMiss finds a module the go command wanted under GOPROXY=off: named
// on the refusal line ("go: M@V: module lookup disabled ...") by some
// versions, else on the "go: downloading M V" line before the refusals.
var offlineMiss = []*regexp.Regexp{
	regexp.MustCompile(`(?m)([^\s:@]+@v[^\s:]+): module lookup disabled by GOPROXY=off`),
	regexp.MustCompile(`(?m)^go: downloading (\S+) (v\S+)$`),
}

// missingOfflineModule returns a module (path@version) that the go command
// could not fetch offline, "" when it refused none. The go command prints a
// line per import of a missing module among the "downloading" lines: one
// sentence that says what to do serves better.
func missingOfflineModule(out string) string {
	if !strings.Contains(out, "module lookup disabled by GOPROXY=off") {
		return ""
	}
	for _, re := range offlineMiss {
		if m := re.FindStringSubmatch(out); m != nil {
			return strings.Join(m[1:], "@")
		}
	}
	return "a module"
}

// position is "file.go:line" at the start of a line of compiler output.
var position = regexp.MustCompile(`^([^:\s][^:]*\.go):(\d+)(.*)$`)

// MapCompilerOutput rewrites the go command's output so that every position
// names a file of the project the way the user sees it. The //line
// directives make the compiler report extensions by their name in the
// project (extensions/NAME.go), mapped back to the original file here;
// anything reported in a copy is mapped back to the original file and line.
// genDir is the generated package, extensions the original files, and
// display turns an absolute path into what the user should read (relative
// to the working directory, say).
func MapCompilerOutput(out, genDir string, extensions []string, display func(string) string) string {
	byCopy := map[string]string{}
	byLine := map[string]string{}
	for _, ext := range extensions {
		byCopy[filepath.Join(genDir, extPrefix+filepath.Base(ext))] = ext
		byLine[extLineName(ext)] = ext
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if strings.HasPrefix(line, "# ") {
			continue // "# microgw.gen/NAME": the generated package's name says nothing
		}
		if m := position.FindStringSubmatch(line); m != nil {
			file, num, rest := m[1], m[2], m[3]
			if orig, ok := byLine[filepath.ToSlash(file)]; ok {
				file = orig
			} else if !filepath.IsAbs(file) {
				file = filepath.Join(genDir, file)
			}
			if orig, isCopy := byCopy[file]; isCopy {
				// The copy has the //line directive as an extra first line.
				if n, err := strconv.Atoi(num); err == nil && n > 1 {
					num = strconv.Itoa(n - 1)
				}
				file = orig
			}
			line = display(file) + ":" + num + rest
		}
		b.WriteString(line)
		b.WriteString("\n")
	}
	return b.String()
}
