package devidp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// User is a person the development IdP can sign in. Passwords are kept in
// clear: this is a tool for trying Gatehouse on one machine, never for real
// people.
type User struct {
	Email       string   `yaml:"email"`
	Password    string   `yaml:"password"`
	GivenName   string   `yaml:"given_name"`
	Surname     string   `yaml:"surname"`
	DisplayName string   `yaml:"display_name"`
	Groups      []string `yaml:"groups"`
}

// usersFile is the YAML layout: users: [{email: …, password: …, …}].
type usersFile struct {
	Users []User `yaml:"users"`
}

// LoadUsers reads a users YAML file. Unknown keys are errors, so a typo like
// "groupz" does not silently drop a user's groups.
func LoadUsers(path string) ([]User, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	users, err := ParseUsers(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return users, nil
}

// ParseUsers reads the users YAML document.
func ParseUsers(data []byte) ([]User, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f usersFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	if err := checkUsers(f.Users); err != nil {
		return nil, err
	}
	return f.Users, nil
}

// checkUsers reports every problem with a user list at once.
func checkUsers(users []User) error {
	var errs []error
	seen := map[string]int{}
	for i, u := range users {
		n := i + 1
		email := strings.ToLower(strings.TrimSpace(u.Email))
		local, domain, ok := strings.Cut(email, "@")
		switch {
		case email == "":
			errs = append(errs, fmt.Errorf("user %d has no email", n))
		case !ok || local == "" || domain == "" || strings.ContainsAny(email, " \t\r\n") || strings.Contains(domain, "@"):
			errs = append(errs, fmt.Errorf("user %d: %q is not an email address", n, u.Email))
		case seen[email] != 0:
			errs = append(errs, fmt.Errorf("user %d: %s is already user %d", n, email, seen[email]))
		}
		if email != "" {
			seen[email] = n
		}
		if u.Password == "" {
			errs = append(errs, fmt.Errorf("user %d (%s) has no password", n, u.Email))
		}
	}
	return errors.Join(errs...)
}
