// mooring-helm runs `helm template` for Mooring's renderer and prints what it rendered as JSON, so that Node reads
// the objects with JSON.parse instead of a YAML parser (for large charts, parsing the YAML in Node took longer
// than helm's whole render), and reads them the way Helm and the API server do: each document is converted with
// sigs.k8s.io/yaml, the library helm itself uses to parse its manifests.
//
//	mooring-helm [-timeout 60s] [-max-output BYTES] [-max-memory BYTES] -- HELM ARGS...
//
// It also confines helm: the data segment limit (RLIMIT_DATA, which caps a Go program's heap) is set before helm
// starts, helm is killed at the deadline or when its output passes -max-output, and dies with this process
// (PR_SET_PDEATHSIG). Its environment is passed on unchanged: the caller builds it.
//
// Exit status: 0 and a JSON array of {"source": "<chart>/templates/x.yaml", "object": {...}} on stdout;
// 10 helm failed (its stderr copied to stderr); 11 output over -max-output; 12 past the deadline; 13 out of memory;
// 14 a document helm printed is not valid YAML; 2 bad usage.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"
)

const (
	exitHelm     = 10
	exitOutput   = 11
	exitDeadline = 12
	exitMemory   = 13
	exitYAML     = 14
)

func main() {
	timeout := flag.Duration("timeout", 60*time.Second, "kill helm after this long")
	maxOutput := flag.Int64("max-output", 128<<20, "largest output helm may print, bytes")
	maxMemory := flag.Uint64("max-memory", 0, "data segment limit for helm (and this process), bytes; 0: none")
	flag.Parse()
	args := flag.Args()
	if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: mooring-helm [flags] -- HELM ARGS...")
		os.Exit(2)
	}
	if *maxMemory > 0 {
		lim := &syscall.Rlimit{Cur: *maxMemory, Max: *maxMemory}
		if err := syscall.Setrlimit(syscall.RLIMIT_DATA, lim); err != nil {
			fmt.Fprintf(os.Stderr, "mooring-helm: cannot set the memory limit: %v\n", err)
			os.Exit(2)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr limitedBuffer
	stderr.max = 1 << 20
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fail(2, "mooring-helm: %v", err)
	}
	if err := cmd.Start(); err != nil {
		fail(exitHelm, "cannot run %s: %v", args[0], err)
	}
	out, tooBig := readLimited(stdout, *maxOutput)
	if tooBig {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		fail(exitOutput, "helm printed more than %d bytes", *maxOutput)
	}
	werr := cmd.Wait()
	if ctx.Err() == context.DeadlineExceeded {
		fail(exitDeadline, "helm did not finish within %s", *timeout)
	}
	msg := stderr.String()
	if werr != nil {
		if strings.Contains(msg, "fatal error: out of memory") || strings.Contains(msg, "runtime: out of memory") {
			fail(exitMemory, "helm ran out of memory (limit %d bytes)", *maxMemory)
		}
		os.Stderr.WriteString(msg)
		os.Exit(exitHelm)
	}
	if err := convert(out, os.Stdout); err != nil {
		var ye *yamlError
		if errors.As(err, &ye) {
			fail(exitYAML, "%s: %v", ye.source, ye.err)
		}
		fail(2, "mooring-helm: %v", err)
	}
}

type yamlError struct {
	source string
	err    error
}

func (e *yamlError) Error() string { return e.source + ": " + e.err.Error() }

// convert splits helm's output at its "---" lines and writes each non-empty document as JSON, with the template
// it came from (helm's "# Source:" comment).
func convert(out []byte, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString("[")
	n := 0
	emit := func(doc []byte) error {
		source := ""
		for _, line := range bytes.Split(doc, []byte("\n")) {
			if s, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("# Source: ")); ok {
				source = string(s)
				break
			}
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return &yamlError{source: source, err: err}
		}
		if string(bytes.TrimSpace(j)) == "null" {
			return nil
		}
		if n > 0 {
			bw.WriteString(",")
		}
		n++
		src, _ := json.Marshal(source)
		bw.WriteString(`{"source":`)
		bw.Write(src)
		bw.WriteString(`,"object":`)
		bw.Write(j)
		bw.WriteString("}")
		return nil
	}
	start := 0
	for i := 0; i <= len(out); {
		end := bytes.IndexByte(out[i:], '\n')
		if end < 0 {
			end = len(out)
		} else {
			end += i
		}
		line := out[i:end]
		if isSeparator(line) {
			if err := emit(out[start:i]); err != nil {
				return err
			}
			start = end + 1
		}
		i = end + 1
	}
	if start < len(out) {
		if err := emit(out[start:]); err != nil {
			return err
		}
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

// isSeparator: a YAML document marker line, "---" alone or followed by blanks or a comment.
func isSeparator(line []byte) bool {
	rest, ok := bytes.CutPrefix(bytes.TrimRight(line, " \t\r"), []byte("---"))
	return ok && (len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '#')
}

func readLimited(r io.Reader, max int64) ([]byte, bool) {
	var buf bytes.Buffer
	n, _ := io.Copy(&buf, io.LimitReader(r, max+1))
	if n > max {
		return nil, true
	}
	return buf.Bytes(), false
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}

func fail(code int, format string, a ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(code)
}
