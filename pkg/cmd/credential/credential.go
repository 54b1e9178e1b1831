// Package credential is what the commands that issue a development
// credential signed with a project's issuer key share (`micro-gw token
// issue`, `micro-gw apikey issue`): their common inputs and flags, the
// project and key they sign with, and how the credential is printed.
package credential

import (
	"crypto"
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/project"
)

// Options are the inputs every such command has.
type Options struct {
	Out    io.Writer
	ErrOut io.Writer
	Getwd  func() (string, error)
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	Project string // the project folder (NAME)
	TTL     time.Duration
	Subject string // --sub
	JTI     string // --jti; empty: a random UUID
	KeyType string // --keytype
}

// New returns the Options of a command made from f.
func New(f *factory.Factory) Options {
	return Options{Out: f.Out, ErrOut: f.ErrOut, Getwd: f.Getwd}
}

// AddFlags binds --ttl (default ttl), --sub, --jti and --keytype; what
// names the credential in their help ("token", "key").
func (o *Options) AddFlags(fl *pflag.FlagSet, what string, ttl time.Duration, subUsage string) {
	fl.DurationVar(&o.TTL, "ttl", ttl, "the "+what+"'s lifetime (exp = now + ttl)")
	fl.StringVar(&o.Subject, "sub", issuer.DefaultSubject, subUsage)
	fl.StringVar(&o.JTI, "jti", "", "the "+what+"'s id, the key of its revocation (default a random UUID)")
	fl.StringVar(&o.KeyType, "keytype", issuer.DefaultKeyType, "PRODUCTION or SANDBOX: which endpoints the gateway sends the request to")
}

// Check refuses a --ttl or --keytype no gateway would take.
func (o *Options) Check() error {
	return issuer.CheckFlags(o.TTL, o.KeyType)
}

// Open is the project NAME (relative to the working directory) and its
// development issuer key.
func (o *Options) Open() (project.Project, crypto.Signer, error) {
	wd, err := o.Getwd()
	if err != nil {
		return project.Project{}, nil, err
	}
	return issuer.ProjectKey(wd, o.Project)
}

// Print fills the claims every credential has from the options (sub, ttl,
// jti, keytype, iat from Now), signs them with key under the project's kid
// and prints the credential alone on a line, so that
// TOKEN=$(micro-gw ... issue NAME) works.
func (o *Options) Print(key crypto.Signer, claims issuer.Claims) error {
	claims.Subject, claims.TTL, claims.JTI, claims.KeyType = o.Subject, o.TTL, o.JTI, o.KeyType
	if o.Now != nil {
		claims.IssuedAt = o.Now()
	}
	tok, err := issuer.Sign(key, project.IssuerAlias, claims)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.Out, tok)
	return err
}
