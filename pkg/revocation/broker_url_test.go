package revocation

import (
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
)

func TestBrokerURLParse(t *testing.T) {
	for _, tc := range []struct {
		raw, user, pass string
		want            BrokerURL
	}{
		{
			raw:  "amqp://admin:admin@carbon/carbon?brokerlist='tcp://localhost:5672'",
			want: BrokerURL{ProtocolAMQP, []string{"localhost:5672"}, "carbon", "admin", "admin", false, ""},
		},
		{
			raw:  "amqp://admin:admin@clientid/carbon?brokerlist='tcp://h1:5672;tcp://h2:5673'",
			want: BrokerURL{ProtocolAMQP, []string{"h1:5672", "h2:5673"}, "carbon", "admin", "admin", false, ""},
		},
		{
			raw:  "amqp://admin:admin@clientid/?brokerlist='tcp://h1'&connectdelay='5000'",
			want: BrokerURL{ProtocolAMQP, []string{"h1:5672"}, "/", "admin", "admin", false, ""},
		},
		{
			raw:  "amqp://admin:admin@clientid/carbon?brokerlist='tcp://h1:5671?ssl='true'&ssl_verify='false';tcp://h2:5671?ssl='true''&retries='3'",
			want: BrokerURL{ProtocolAMQP, []string{"h1:5671", "h2:5671"}, "carbon", "admin", "admin", true, ""},
		},
		{
			raw:  "amqp://admin:admin@clientid/carbon?brokerlist='ssl://h1'",
			want: BrokerURL{ProtocolAMQP, []string{"h1:5671"}, "carbon", "admin", "admin", true, ""},
		},
		{
			raw:  "amqp://guest:guest@localhost:5672/",
			want: BrokerURL{ProtocolAMQP, []string{"localhost:5672"}, "/", "guest", "guest", false, ""},
		},
		{
			raw:  "amqp://guest:guest@localhost",
			want: BrokerURL{ProtocolAMQP, []string{"localhost:5672"}, "/", "guest", "guest", false, ""},
		},
		{
			raw:  "amqp://u%40x:p%2Fw%3Ad@rabbit.example:5673/%2F",
			want: BrokerURL{ProtocolAMQP, []string{"rabbit.example:5673"}, "/", "u@x", "p/w:d", false, ""},
		},
		{
			raw:  "amqps://u:p@rabbit.example/prod",
			want: BrokerURL{ProtocolAMQP, []string{"rabbit.example:5671"}, "prod", "u", "p", true, ""},
		},
		{
			raw:  "stomp://localhost:61613",
			want: BrokerURL{ProtocolSTOMP, []string{"localhost:61613"}, "/", "", "", false, ""},
		},
		{
			raw:  "stomp://localhost",
			want: BrokerURL{ProtocolSTOMP, []string{"localhost:61613"}, "/", "", "", false, ""},
		},
		{
			raw:  "tcp://127.0.0.1:61616/myvhost",
			want: BrokerURL{ProtocolSTOMP, []string{"127.0.0.1:61616"}, "myvhost", "", "", false, ""},
		},
		{
			raw:  "stomp+ssl://amq.example",
			want: BrokerURL{ProtocolSTOMP, []string{"amq.example:61614"}, "/", "", "", true, ""},
		},
		{
			raw:  "stomp://h1:61613,h2:61613,[::1]:61613,[::1]/",
			want: BrokerURL{ProtocolSTOMP, []string{"h1:61613", "h2:61613", "[::1]:61613", "[::1]:61613"}, "/", "", "", false, ""},
		},
		{
			raw:  "STOMP://user:pa@ss/w?rd@h1:1234/vh",
			want: BrokerURL{ProtocolSTOMP, []string{"h1:1234"}, "vh", "user", "pa@ss/w?rd", false, ""},
		},
		{
			// jmsConnectionUsername/Password win over the URL's.
			raw: "amqp://admin:admin@carbon/carbon?brokerlist='tcp://localhost:5672'", user: "gw", pass: "s3cret",
			want: BrokerURL{ProtocolAMQP, []string{"localhost:5672"}, "carbon", "gw", "s3cret", false, ""},
		},
		{
			// Each one only where set.
			raw: "stomp://admin:admin@localhost", pass: "other",
			want: BrokerURL{ProtocolSTOMP, []string{"localhost:61613"}, "/", "admin", "other", false, ""},
		},
		{
			raw: "stomp://localhost", user: "guest", pass: "guest",
			want: BrokerURL{ProtocolSTOMP, []string{"localhost:61613"}, "/", "guest", "guest", false, ""},
		},
		{
			// ActiveMQ's MapMessage as JSON, asked for by the URL only.
			raw:  "stomp://amq:61623?transformation=jms-map-json",
			want: BrokerURL{ProtocolSTOMP, []string{"amq:61623"}, "/", "", "", false, "jms-map-json"},
		},
	} {
		got, err := ParseBrokerURL(tc.raw, tc.user, tc.pass)
		if err != nil {
			t.Errorf("ParseBrokerURL(%q): %v", tc.raw, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseBrokerURL(%q)\n got %+v\nwant %+v", tc.raw, got, tc.want)
		}
	}
}

func TestBrokerURLErrors(t *testing.T) {
	const secret = "Pa55w0rd-xyz"
	for _, raw := range []string{
		"",
		"localhost:61613",
		"http://localhost",
		"ssl://localhost:61614",
		"stomp://",
		"stomp://:61613",
		"stomp://host:0",
		"stomp://host:70000",
		"stomp://host:port",
		"stomp://h1:61613,,h2",
		"stomp://u:" + secret + "@",
		"stomp://u:" + secret + "@host:x",
		"stomp://u:" + secret + "%zz@host",
		"stomp://u:" + secret + "/x@bad host",
		"amqp://u:" + secret + "@h1,h2",
		"amqp://u:" + secret + "@c/v?brokerlist='tcp://h1:5672",
		"amqp://u:" + secret + "@c/v?brokerlist=''",
		"amqp://u:" + secret + "@c/v?brokerlist='http://h1'",
		"amqp://u:" + secret + "@c/v?brokerlist='h1:5672'",
		"amqp://u:" + secret + "@c/v?brokerlist='tcp://h1?ssl='true';tcp://h2'",
		"stomp://u:" + secret + "@h/v?brokerlist='tcp://h1'",
		"u:" + secret + "@host://x",
		"stomp://h/%zz",
		"stomp://h?transformation=jms-map-xml",
		"amqp://u:" + secret + "@h?transformation=jms-map-json",
	} {
		_, err := ParseBrokerURL(raw, "", "")
		if err == nil {
			t.Errorf("ParseBrokerURL(%q) accepted", raw)
			continue
		}
		if !errors.Is(err, errBrokerURL) {
			t.Errorf("ParseBrokerURL(%q): error does not wrap errBrokerURL: %v", raw, err)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "Pa55") {
			t.Errorf("ParseBrokerURL(%q): error shows the password: %v", raw, err)
		}
	}
	// The configured password must not show either.
	if _, err := ParseBrokerURL("stomp://"+secret+":0", "", secret); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("error shows the configured password, or no error: %v", err)
	}
}

func TestBrokerURLStringHidesPassword(t *testing.T) {
	u, err := ParseBrokerURL("amqp://admin:hunter2@carbon/carbon?brokerlist='tcp://h1:5672;tcp://h2:5672'", "", "")
	if err != nil {
		t.Fatal(err)
	}
	s := u.String()
	if strings.Contains(s, "hunter2") || !strings.Contains(s, "h1:5672,h2:5672") || !strings.Contains(s, "admin") {
		t.Fatalf("String() = %q", s)
	}
}

func FuzzParseBrokerURL(f *testing.F) {
	for _, s := range []string{
		"amqp://admin:admin@carbon/carbon?brokerlist='tcp://localhost:5672'",
		"amqp://a:b@c/v?brokerlist='tcp://h1:5671?ssl='true';tcp://h2:5671?ssl='true''",
		"amqps://u:p@h:5671/v",
		"stomp://h1:61613,h2:61613/vh",
		"stomp+ssl://u:p@[::1]:61614",
		"tcp://u:p%2f@h",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := ParseBrokerURL(raw, "", "")
		if err != nil {
			if !errors.Is(err, errBrokerURL) {
				t.Fatalf("error does not wrap errBrokerURL: %v", err)
			}
			// The password as a reader would take it: between the first
			// ':' after "://" and the last '@'.
			if _, rest, ok := strings.Cut(raw, "://"); ok {
				if at := strings.LastIndexByte(rest, '@'); at >= 0 {
					if _, pass, ok := strings.Cut(rest[:at], ":"); ok && len(pass) >= 6 &&
						!strings.Contains(rest[at:], pass) && strings.Contains(err.Error(), pass) {
						t.Fatalf("error shows the password %q: %v", pass, err)
					}
				}
			}
			return
		}
		if u.Protocol != ProtocolSTOMP && u.Protocol != ProtocolAMQP {
			t.Fatalf("protocol %q", u.Protocol)
		}
		if len(u.Addrs) == 0 || u.VHost == "" {
			t.Fatalf("incomplete result %+v", u)
		}
		for _, a := range u.Addrs {
			h, p, err := net.SplitHostPort(a)
			if err != nil || h == "" || p == "" {
				t.Fatalf("address %q is no host:port", a)
			}
		}
		if u.Password != "" && len(u.Password) >= 3 && strings.Contains(u.String(), ":"+u.Password+"@") {
			t.Fatalf("String() shows the password: %s", u.String())
		}
	})
}
