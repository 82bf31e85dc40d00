package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// applyEnv sets fields from GATEHOUSE_* variables, walking the schema so
// every key has exactly one variable and unknown GATEHOUSE_ variables are
// reported rather than ignored.
func applyEnv(cfg *Config, environ []string) []Problem {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, "GATEHOUSE_") {
			env[k] = v
		}
	}
	var ps []Problem
	known := map[string]bool{}
	walk(reflect.ValueOf(cfg).Elem(), "", func(key string, f reflect.Value) {
		name := EnvName(key)
		known[name] = true
		raw, ok := env[name]
		if !ok {
			return
		}
		if err := setField(f, raw); err != nil {
			ps = append(ps, Problem{Key: key, Message: fmt.Sprintf("from %s: %v", name, err)})
		}
	})
	for name := range env {
		if !known[name] && !ignoredEnv[name] {
			ps = append(ps, Problem{Key: name, Message: "is not a Gatehouse setting (misspelt?)"})
		}
	}
	return ps
}

// ignoredEnv are GATEHOUSE_ variables that are not settings (test switches).
var ignoredEnv = map[string]bool{
	"GATEHOUSE_CONFIG": true, "GATEHOUSE_TEST_POSTGRES_DSN": true, "GATEHOUSE_TEST_REQUIRE_ALL": true,
	"GATEHOUSE_TEST_CHROMIUM": true, "GATEHOUSE_SCREENSHOTS": true,
}

// EnvName is the environment variable for a key path.
func EnvName(key string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(key))
}

// Keys lists every key path in schema order (for documentation tests).
func Keys() []string {
	var keys []string
	cfg := Default()
	walk(reflect.ValueOf(&cfg).Elem(), "", func(key string, _ reflect.Value) { keys = append(keys, key) })
	return keys
}

func walk(v reflect.Value, prefix string, fn func(key string, f reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		key := tag
		if prefix != "" {
			key = prefix + "." + tag
		}
		f := v.Field(i)
		if f.Kind() == reflect.Struct {
			walk(f, key, fn)
			continue
		}
		fn(key, f)
	}
}

var durationType = reflect.TypeOf(time.Duration(0))

func setField(f reflect.Value, raw string) error {
	switch {
	case f.Type() == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("not a duration such as 30m or 8h: %q", raw)
		}
		f.SetInt(int64(d))
	case f.Kind() == reflect.String:
		f.SetString(raw)
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("not a whole number: %q", raw)
		}
		f.SetInt(int64(n))
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		var items []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported setting type %s", f.Type())
	}
	return nil
}
