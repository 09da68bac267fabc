package spec

import "fmt"

// ResolveToken returns the provider's token from the environment variable
// its manifest names (token: ${VAR}), looked up with lookup (os.LookupEnv
// in the program, a map in tests). It fails when the provider uses
// tokenCommand instead, or when the variable is unset or empty. The error
// names the provider and the variable, never a value.
func (p *Provider) ResolveToken(lookup func(string) (string, bool)) (string, error) {
	if p.TokenEnv == "" {
		return "", fmt.Errorf("provider %s: has no token variable: its token comes from tokenCommand", p.Name)
	}
	tok, ok := lookup(p.TokenEnv)
	switch {
	case !ok:
		return "", fmt.Errorf("provider %s: environment variable %s is not set", p.Name, p.TokenEnv)
	case tok == "":
		return "", fmt.Errorf("provider %s: environment variable %s is empty", p.Name, p.TokenEnv)
	}
	return tok, nil
}
