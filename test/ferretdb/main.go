// Command ferretdb-testbed runs FerretDB v1 with its SQLite backend on a
// loopback TCP port: the MongoDB-compatible source server of the test bed.
//
// Usage: ferretdb-testbed -listen 127.0.0.1:27018 -data /path/to/dir
//
//	[-listen-tls 127.0.0.1:27019 -tls-cert server.pem -tls-key server.key]
//
// The TLS listener asks for no client certificate.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27018", "TCP address to listen on (loopback only)")
	data := flag.String("data", "", "directory for the SQLite databases")
	level := flag.String("log-level", "warn", "log level: debug, info, warn, error")
	listenTLS := flag.String("listen-tls", "", "TCP address of a TLS listener (loopback only), none if empty")
	tlsCert := flag.String("tls-cert", "", "server certificate (PEM) of the TLS listener")
	tlsKey := flag.String("tls-key", "", "server key (PEM) of the TLS listener")
	flag.Parse()

	if *data == "" {
		fmt.Fprintln(os.Stderr, "ferretdb-testbed: -data is required")
		os.Exit(2)
	}
	dir, err := filepath.Abs(*data)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-testbed: %s\n", err)
		os.Exit(2)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-testbed: %s\n", err)
		os.Exit(2)
	}

	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-testbed: bad -log-level: %s\n", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{
			TCP:         *listen,
			TLS:         *listenTLS,
			TLSCertFile: *tlsCert,
			TLSKeyFile:  *tlsKey,
		},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb-testbed: %s\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	fmt.Fprintf(os.Stderr, "ferretdb-testbed: listening on %s, data in %s\n", *listen, dir)
	f.Run(ctx)
}
