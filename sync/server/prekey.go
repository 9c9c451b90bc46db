package server

import (
	"net/http"

	"github.com/fieldcase/fieldcase/sync/protocol"
	"github.com/fieldcase/fieldcase/trust"
)

// handlePreKey stores a pre-key the sending device signed for itself
// (docs/ARCHITECTURE.md, "Crypto-shredding", part 2). It is logged like
// every statement; one the roster with it would not take (an older
// version, another device's) is refused. Sending the same one again is
// harmless.
func (s *Server) handlePreKey(w http.ResponseWriter, r *http.Request, sess *session) error {
	var req protocol.PreKeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	st, err := deviceSigned(req.PreKey, trust.KindPreKey, sess)
	if err != nil {
		return err
	}
	if st.Device != sess.device.ID {
		return forbidden("a device publishes its own pre-key only")
	}
	now := s.now().UTC()
	var resp StatementResponse
	err = s.store.Update(r.Context(), func(tx Tx) error {
		ts, err := loadDeviceTrust(tx)
		if err != nil {
			return err
		}
		if !stored(ts, req.PreKey) {
			if err := ts.addForDevice(tx, now, req.PreKey); err != nil {
				return err
			}
		}
		resp.RosterVersion = ts.meta.RosterVersion
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("pre-key stored", "device", sess.device.ID, "version", st.Version)
	writeJSON(w, http.StatusOK, resp)
	return nil
}
