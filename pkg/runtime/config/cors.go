package config

import (
	"errors"
	"fmt"

	"github.com/micro-gw/micro-gw/pkg/runtime/cors"
)

// The CORS default of APIs whose definition has no x-wso2-cors
// (docs/runtime.md, "CORS").

// CORS is [corsConfig]: x-wso2-cors's fields, for every API whose
// definition does not say.
type CORS struct {
	// Enabled (corsConfigurationEnabled) turns the default on.
	Enabled          bool     `conf:"corsConfigurationEnabled"`
	AllowOrigins     []string `conf:"accessControlAllowOrigins"`
	AllowCredentials bool     `conf:"accessControlAllowCredentials"`
	AllowHeaders     []string `conf:"accessControlAllowHeaders"`
	AllowMethods     []string `conf:"accessControlAllowMethods"`
}

// Policy is the CORS configuration these settings give.
func (c CORS) Policy() cors.Config {
	return cors.Config{AllowOrigins: c.AllowOrigins, AllowCredentials: c.AllowCredentials,
		AllowHeaders: c.AllowHeaders, AllowMethods: c.AllowMethods}
}

// validateCORS checks [corsConfig].
func (d *validator) validateCORS() {
	if err := cors.Check(d.c.CORS.Policy()); err != nil {
		var fe *cors.FieldError
		if errors.As(err, &fe) {
			d.fail(fmt.Sprintf("corsConfig.%s[%d]", fe.Field, fe.Index), fe.Err)
		} else {
			d.fail("corsConfig", err)
		}
	}
}
