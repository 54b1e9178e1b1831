package codegen

import (
	"path/filepath"
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

// MapCompilerOutput rewrites the go command's output so that every position
// names a file of the project: the //line directives already make the
// compiler report extensions by their original path; what is left (the
// package header, a file named relative to the generated package) is mapped
// here. genDir is the generated package, extensions the original files.
func MapCompilerOutput(out, genDir string, extensions []string) string {
	byCopy := map[string]string{}
	for _, ext := range extensions {
		byCopy[extPrefix+filepath.Base(ext)] = ext
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if strings.HasPrefix(line, "# ") {
			continue // "# microgw.gen/NAME": the generated package's name says nothing
		}
		for _, prefix := range []string{genDir + string(filepath.Separator), "./", ""} {
			rest, ok := strings.CutPrefix(line, prefix)
			if !ok {
				continue
			}
			file, pos, ok := strings.Cut(rest, ":")
			if orig, known := byCopy[file]; ok && known {
				line = orig + ":" + shiftLine(pos)
				break
			}
		}
		b.WriteString(line)
		b.WriteString("\n")
	}
	return b.String()
}

// shiftLine takes one off the line number at the start of pos ("12:3: msg"):
// the copy has the //line directive as an extra first line.
func shiftLine(pos string) string {
	num, rest, hasRest := strings.Cut(pos, ":")
	n, err := strconv.Atoi(num)
	if err != nil {
		return pos
	}
	if n > 1 {
		n--
	}
	if !hasRest {
		return strconv.Itoa(n)
	}
	return strconv.Itoa(n) + ":" + rest
}
