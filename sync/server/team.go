package server

import (
	"errors"
	"net/http"
	"slices"

	"github.com/fieldcase/fieldcase/record"
	"github.com/fieldcase/fieldcase/sync/protocol"
)

// handleTeam answers a supervisor's team view: people and devices (with
// their last sync), case membership, and the weighting policy. No case
// content: the server has none to give.
func (s *Server) handleTeam(w http.ResponseWriter, r *http.Request, sess *session) error {
	if sess.user.Role != protocol.RoleSupervisor {
		return forbidden("the team view is for supervisors")
	}
	var view protocol.TeamView
	err := s.store.View(r.Context(), func(tx Tx) error {
		team, err := tx.Team(sess.user.TeamID)
		if err != nil {
			return err
		}
		view.Team = team.Name // no policy: devices take the signed one from the roster
		users, err := tx.Users()
		if err != nil {
			return err
		}
		devices, err := tx.Devices()
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.TeamID != team.ID || u.Role == protocol.RoleAdmin {
				continue
			}
			tu := protocol.TeamUser{ID: u.ID, Name: u.Name, Role: u.Role, Devices: []protocol.TeamDevice{}}
			for _, d := range devices {
				if d.UserID == u.ID {
					tu.Devices = append(tu.Devices, protocol.TeamDevice{ID: d.ID, Name: d.Name, Recipient: d.Recipient,
						Enrolled: d.Enrolled, LastSync: d.LastSync, Revoked: !d.Revoked.IsZero()})
				}
			}
			view.Users = append(view.Users, tu)
		}
		cases, err := tx.TeamCases(team.ID)
		if err != nil {
			return err
		}
		view.Cases = make([]protocol.TeamCase, 0, len(cases))
		for _, c := range cases {
			view.Cases = append(view.Cases, protocol.TeamCase{ID: c.ID, Members: c.Members, Transcription: c.Transcription})
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

// handleMembers adds and removes case members (a supervisor of the case's
// team). A new member is sent the case's whole history; a removed one is
// sent nothing more (the supervisor's device then rotates the case key, so
// what is written after the removal is not readable with the old one).
func (s *Server) handleMembers(w http.ResponseWriter, r *http.Request, sess *session) error {
	caseID := r.PathValue("case")
	if err := record.ValidID(caseID); err != nil {
		return badRequest("case id: %v", err)
	}
	var req protocol.MembersUpdate
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.Add)+len(req.Remove) == 0 || len(req.Add)+len(req.Remove) > 100 {
		return badRequest("name 1 to 100 users to add or remove")
	}
	var out protocol.TeamCase
	err := s.store.Update(r.Context(), func(tx Tx) error {
		c, err := tx.Case(caseID)
		if errors.Is(err, ErrNotFound) {
			return errf(http.StatusNotFound, protocol.CodeNotFound, "no case %s on the server (sync it first)", caseID)
		}
		if err != nil {
			return err
		}
		if !supervises(sess.user, c) {
			return forbidden("only a supervisor of the case's team changes its members")
		}
		resolve := func(name string) (User, error) {
			u, err := tx.UserByName(name)
			if errors.Is(err, ErrNotFound) {
				return u, badRequest("no user %q", name)
			}
			if err == nil && (u.TeamID != c.TeamID || u.Role == protocol.RoleAdmin) {
				return u, badRequest("%s is not a worker of this case's team", name)
			}
			return u, err
		}
		var added []string
		for _, name := range req.Add {
			u, err := resolve(name)
			if err != nil {
				return err
			}
			if !slices.Contains(c.Members, u.ID) {
				c.Members = append(c.Members, u.ID)
				added = append(added, u.ID)
			}
		}
		for _, name := range req.Remove {
			u, err := resolve(name)
			if err != nil {
				return err
			}
			c.Members = slices.DeleteFunc(c.Members, func(id string) bool { return id == u.ID })
		}
		if err := tx.PutCase(c); err != nil {
			return err
		}
		if err := announce(tx, c.ID, added); err != nil {
			return err
		}
		out = protocol.TeamCase{ID: c.ID, Members: c.Members, Transcription: c.Transcription}
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("case members changed", "case", caseID, "by", sess.user.Name, "add", req.Add, "remove", req.Remove)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// announce re-sends a case's history to users newly given access to it.
func announce(tx Tx, caseID string, users []string) error {
	if len(users) == 0 {
		return nil
	}
	revs, err := tx.CaseRevisions(caseID)
	if err != nil {
		return err
	}
	for _, u := range users {
		for _, rev := range revs {
			if _, err := tx.AppendChange(Change{Rev: rev, CaseID: caseID, Target: u}); err != nil {
				return err
			}
		}
	}
	return nil
}

// handleTranscription opens a case to the team's typists while a dictation
// waits for typing, or closes it again. Members and supervisors may.
func (s *Server) handleTranscription(w http.ResponseWriter, r *http.Request, sess *session) error {
	caseID := r.PathValue("case")
	if err := record.ValidID(caseID); err != nil {
		return badRequest("case id: %v", err)
	}
	var req protocol.TranscriptionUpdate
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var out protocol.TeamCase
	err := s.store.Update(r.Context(), func(tx Tx) error {
		c, err := tx.Case(caseID)
		if errors.Is(err, ErrNotFound) {
			return errf(http.StatusNotFound, protocol.CodeNotFound, "no case %s on the server (sync it first)", caseID)
		}
		if err != nil {
			return err
		}
		if _, write := caseAccess(sess.user, c); !write || sess.user.Role == protocol.RoleTypist {
			return forbidden("only the case's workers and supervisors open it for transcription")
		}
		was := c.Transcription
		c.Transcription = req.Open
		if err := tx.PutCase(c); err != nil {
			return err
		}
		if req.Open && !was {
			users, err := tx.Users()
			if err != nil {
				return err
			}
			var typists []string
			for _, u := range users {
				if u.Role == protocol.RoleTypist && u.TeamID == c.TeamID {
					typists = append(typists, u.ID)
				}
			}
			if err := announce(tx, c.ID, typists); err != nil {
				return err
			}
		}
		out = protocol.TeamCase{ID: c.ID, Members: c.Members, Transcription: c.Transcription}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
