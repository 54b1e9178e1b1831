package kubernetes

import (
	"strings"
	"testing"
)

func TestListenerPorts(t *testing.T) {
	conf := []byte("[listenerConfig]\nhttpPort = 0\nhttpsPort = \"${HTTPS_PORT}\"\nadminPort = 9196\n")
	p, notes, err := ListenerPorts(conf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p != (Ports{HTTP: 0, HTTPS: 9095, Admin: 9196}) || len(notes) != 1 || !strings.Contains(notes[0], "httpsPort") {
		t.Errorf("%+v %q", p, notes)
	}
	p, _, err = ListenerPorts(conf, map[string]string{"MGW_LISTENERCONFIG_HTTPPORT": "8080"})
	if err != nil || p.HTTP != 8080 {
		t.Errorf("MGW_ override: %+v %v", p, err)
	}
	if p, _, err := ListenerPorts(nil, nil); err != nil || p != DefaultPorts {
		t.Errorf("empty conf: %+v %v", p, err)
	}
	for _, bad := range []string{"[listenerConfig]\nhttpPort = 70000\n", "[listenerConfig]\nhttpPort = true\n", "[listenerConfig\n"} {
		if _, _, err := ListenerPorts([]byte(bad), nil); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzListenerPorts(f *testing.F) {
	f.Add([]byte("[listenerConfig]\nhttpPort = 0\nhttpsPort = \"${X}\"\n"), "9090")
	f.Fuzz(func(t *testing.T, conf []byte, env string) {
		p, _, err := ListenerPorts(conf, map[string]string{"MGW_LISTENERCONFIG_ADMINPORT": env})
		if err == nil && (p.HTTP < 0 || p.HTTPS < 0 || p.Admin < 0) {
			t.Fatalf("negative port %+v", p)
		}
	})
}

func TestPlainSecrets(t *testing.T) {
	conf := []byte(`[tokenRevocationConfig.persistent]
password = "root"
[tokenRevocationConfig.realtime]
jmsConnectionPassword = "${BROKER_PASSWORD}"
[listenerConfig]
trustStorePassword = ""
[b7a.users.alice]
password = "$2a$10$abcdefghijklmnopqrstuv"
`)
	if got := PlainSecrets(conf); len(got) != 1 || got[0] != "tokenRevocationConfig.persistent.password" {
		t.Errorf("%q", got)
	}
}
