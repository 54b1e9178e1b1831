package config

import (
	"strconv"
)

// Source is the layer a value came from, lowest first.
type Source int

const (
	FromDefault Source = iota
	FromFile
	FromEnv
	FromFlag
)

// Origin is where a value (or a table) was set.
type Origin struct {
	Source Source
	// Line is the line in the file (FromFile).
	Line int
	// Name is the MGW_ variable (FromEnv) or the -e key as given (FromFlag).
	Name string
	// Key is the key as written when it is another name (an alias) of the
	// key the value is stored under.
	Key string
}

// describe says where o is, for --print-config.
func (o Origin) describe(file string) string {
	s := o.where()
	if o.Source == FromFile {
		s = file + ":" + strconv.Itoa(o.Line)
	}
	if o.Key != "" {
		s += " (as " + o.Key + ")"
	}
	return s
}

// where is o in a few words: "line 12", "MGW_LOG_LEVEL", "-e log.level".
func (o Origin) where() string {
	switch o.Source {
	case FromFile:
		return "line " + strconv.Itoa(o.Line)
	case FromEnv:
		return "environment " + o.Name
	case FromFlag:
		return "-e " + o.Name
	}
	return "default"
}

// fault is an *Error about key, set at o.
func (o Origin) fault(file, key string, err error) *Error {
	e := &Error{File: file, Key: key, Err: err}
	switch o.Source {
	case FromFile:
		e.Line = o.Line
	case FromEnv:
		e.Via = viaEnv(o.Name)
	case FromFlag:
		e.Via = viaFlag
	}
	return e
}

// origins maps the display path of every key and table set by a layer
// above the defaults to where the value in effect was set.
type origins map[string]Origin

// find returns the origin of key, else of its innermost enclosing table
// that has one (with exact false).
func (o origins) find(key string) (org Origin, exact, ok bool) {
	if org, ok := o[key]; ok && org.Source != FromDefault {
		return org, true, true
	}
	for _, k := range enclosing(key) {
		if org, ok := o[k]; ok && org.Source != FromDefault {
			return org, false, true
		}
	}
	return Origin{}, false, false
}

// written reports whether a layer above the defaults set key.
func (o origins) written(key string) bool {
	org, ok := o[key]
	return ok && org.Source != FromDefault
}

// fault is an *Error about key, placed where key (or its table) was set.
func (o origins) fault(file, key string, err error) *Error {
	org, exact, ok := o.find(key)
	if !ok {
		return &Error{File: file, Key: key, Err: err}
	}
	if exact && org.Key != "" {
		key = org.Key
	}
	return org.fault(file, key, err)
}
