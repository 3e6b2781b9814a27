// Command ferretdb-testbed runs FerretDB v1 with its SQLite backend on a
// loopback TCP port: the MongoDB-compatible source server of the test bed.
//
// Usage: ferretdb-testbed -listen 127.0.0.1:27018 -data /path/to/dir
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
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
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
