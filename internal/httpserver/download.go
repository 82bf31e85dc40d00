package httpserver

import (
	"io"
	"net/http"
)

// Download streams an attachment named name that write produces. If write
// fails before a byte was sent, Download clears the attachment headers and
// returns the error, so the caller can still answer with an error page.
// If it fails midway, the status line is gone: Download aborts the
// connection (http.ErrAbortHandler) so a truncated file cannot pass for a
// complete one, after calling onAbort to log why.
func Download(w http.ResponseWriter, name, contentType string, write func(io.Writer) error, onAbort func(error)) error {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	cw := &countingWriter{w: w}
	err := write(cw)
	if err == nil {
		return nil
	}
	if cw.n == 0 {
		w.Header().Del("Content-Disposition")
		w.Header().Del("Content-Type")
		return err
	}
	if onAbort != nil {
		onAbort(err)
	}
	panic(http.ErrAbortHandler)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
