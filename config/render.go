package config

import (
	"bytes"
	"reflect"

	"github.com/BurntSushi/toml"
)

// Mask replaces a non-empty secret in rendered output.
const Mask = "***"

// Masked returns a deep copy of c with every `secret` field that is set
// replaced by [Mask] (each element, for a list), so an empty secret still
// shows as empty.
func (c Config) Masked() Config {
	out := c
	mask(reflect.ValueOf(&out).Elem())
	return out
}

// mask masks the secret fields under the struct rv in place; slices are
// copied before they are changed so the original stays intact.
func mask(rv reflect.Value) {
	for i := range rv.NumField() {
		f, fv := rv.Type().Field(i), rv.Field(i)
		secret := f.Tag.Get("secret") == "true"
		switch fv.Kind() {
		case reflect.Struct:
			mask(fv)
		case reflect.String:
			if secret && fv.Len() > 0 {
				fv.SetString(Mask)
			}
		case reflect.Slice:
			if !secret && fv.Type().Elem().Kind() != reflect.Struct {
				continue
			}
			cp := reflect.MakeSlice(fv.Type(), fv.Len(), fv.Len())
			reflect.Copy(cp, fv)
			for j := range cp.Len() {
				switch e := cp.Index(j); e.Kind() {
				case reflect.Struct:
					mask(e)
				case reflect.String:
					e.SetString(Mask)
				}
			}
			fv.Set(cp)
		}
	}
}

// TOML renders c as a TOML document with secrets masked: the effective
// configuration as `certstream validate-config` prints it.
func (c Config) TOML() ([]byte, error) {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(c.Masked()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
