package console

import (
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/members"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// importView is the CSV import's upload form, then its preview, then its
// result.
type importView struct {
	Preview *members.Preview
	CSV     string // the file, carried from the preview to the confirmation
	Invited int    // after the import
	MaxRows int
}

// adminMembersImportForm shows the upload form.
func (h *Handler) adminMembersImportForm(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	h.renderImport(w, r, adm, http.StatusOK, &importView{MaxRows: members.MaxImportRows}, "")
}

func (h *Handler) renderImport(w http.ResponseWriter, r *http.Request, adm storage.Account, status int, iv *importView, errMsg string) {
	iv.MaxRows = members.MaxImportRows
	h.adminPage(w, r, status, "admin_members_import", adm, &view{
		Title: "Import members", Error: errMsg, Admin: &adminView{Section: "members", Import: iv},
	})
}

// importFile reads the uploaded file (a multipart "file" part) or, when
// none was chosen, the pasted "csv" field. The CSRF check has parsed the
// multipart form already (httpserver.MaxUploadBody).
func importFile(r *http.Request) ([]byte, error) {
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["file"]; len(fhs) > 0 && fhs[0].Size > 0 {
			if fhs[0].Size > members.MaxImportBytes {
				return nil, members.ErrTooLarge
			}
			f, err := fhs[0].Open()
			if err != nil {
				return nil, err
			}
			defer f.Close()
			b, err := io.ReadAll(io.LimitReader(f, members.MaxImportBytes+1))
			if err != nil {
				return nil, err
			}
			if len(b) > members.MaxImportBytes {
				return nil, members.ErrTooLarge
			}
			return b, nil
		}
	}
	return []byte(r.PostFormValue("csv")), nil
}

// adminMembersImportPreview shows, row by row, what the import would do.
func (h *Handler) adminMembersImportPreview(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	h.importStep(w, r, adm, false)
}

// adminMembersImportConfirm invites the preview's "will invite" rows in
// one transaction.
func (h *Handler) adminMembersImportConfirm(w http.ResponseWriter, r *http.Request, adm storage.Account) {
	h.importStep(w, r, adm, true)
}

func (h *Handler) importStep(w http.ResponseWriter, r *http.Request, adm storage.Account, commit bool) {
	if r.MultipartForm == nil && !h.parseForm(w, r) {
		return
	}
	file, err := importFile(r)
	if err == nil && !utf8.Valid(file) {
		h.renderImport(w, r, adm, http.StatusBadRequest, &importView{}, "The file is not UTF-8 text. Save it as CSV (UTF-8) and try again.")
		return
	}
	if err != nil {
		if fl, ok := classify(err); ok {
			h.renderImport(w, r, adm, fl.Status, &importView{}, fl.Message)
			return
		}
		h.serverError(w, r, "read import file", err)
		return
	}
	if len(file) == 0 {
		h.renderImport(w, r, adm, http.StatusBadRequest, &importView{}, "Choose a CSV file, or paste its lines.")
		return
	}
	svc := h.memberSvc()
	var p members.Preview
	if commit {
		// The list of those invited is on the page the redirect opens.
		p, _, err = svc.Import(r.Context(), adm.OrgID, file)
	} else {
		p, err = svc.PreviewImport(r.Context(), adm.OrgID, file)
	}
	if err != nil {
		fl, ok := classify(err)
		if !ok {
			h.serverError(w, r, "import members", err)
			return
		}
		iv := &importView{CSV: string(file)}
		if p.Rows != nil {
			iv.Preview = &p
		}
		h.renderImport(w, r, adm, fl.Status, iv, fl.Message)
		return
	}
	if commit {
		seeOther(w, r, "/admin/members?status=invited&sort=created&dir=desc", "imported")
		return
	}
	h.renderImport(w, r, adm, http.StatusOK, &importView{Preview: &p, CSV: string(file)}, "")
}
