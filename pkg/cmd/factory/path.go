package factory

import "path/filepath"

// Abs is path taken against the working directory getwd gives when it is
// relative: a command's file flags name files as the user's shell sees them.
func Abs(getwd func() (string, error), path string) (string, error) {
	if filepath.IsAbs(path) {
		return path, nil
	}
	wd, err := getwd()
	if err != nil {
		return "", err
	}
	return filepath.Join(wd, path), nil
}
