package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dvresponse/dvresponse/internal/apperr"
)

// uniqueFields maps unique-constraint names to the form field that a
// duplicate concerns and the message to show next to it.
var uniqueFields = map[string][2]string{
	"districts_code_key":            {"code", "A district with this code already exists."},
	"settlements_district_name_key": {"name", "This district already has a settlement with this name."},
	"units_call_sign_key":           {"call_sign", "A unit with this call sign already exists."},
	"incident_types_code_key":       {"code", "An incident type with this code already exists."},
	"priorities_pkey":               {"level", "This priority level already exists."},
	"dispositions_code_key":         {"code", "A disposition with this code already exists."},
	"partner_orgs_name_key":         {"name", "An organisation with this name already exists."},
	"users_username_key":            {"username", "This username is taken."},
}

// mapErr turns a pgx error into an apperr. what names the record for a
// not-found message ("district", "user", ...).
func mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err // already in our vocabulary (e.g. returned from inside a transaction)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		if what == "" {
			what = "record"
		}
		return apperr.Wrap(apperr.NotFound, err, "No such "+what+".")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Keep only the SQLSTATE and constraint for logs: a PostgreSQL
		// message or detail can quote the values, and values are personal.
		err = fmt.Errorf("postgres error %s (constraint %q)", pgErr.Code, pgErr.ConstraintName)
		switch pgErr.Code {
		case "23505": // unique_violation
			if f, ok := uniqueFields[pgErr.ConstraintName]; ok {
				return &apperr.Error{Code: apperr.Conflict, Message: f[1], Fields: map[string]apperr.Msg{f[0]: {ID: f[1]}}, Err: err}
			}
			return apperr.Wrap(apperr.Conflict, err, "This record already exists.")
		case "23503": // foreign_key_violation
			if strings.Contains(pgErr.Message, "update or delete") {
				return apperr.Wrap(apperr.Conflict, err, "This record is still in use by other records; deactivate it instead.")
			}
			return apperr.Wrap(apperr.Invalid, err, "A referenced record does not exist.")
		case "23514", "22001", "22003", "23502": // check, string too long, out of range, not null
			return apperr.Wrap(apperr.Invalid, err, "The values were refused by the database; please check them.")
		case "40001", "40P01": // serialization failure, deadlock
			return apperr.Wrap(apperr.Conflict, err, "Another change was made at the same time; please try again.")
		case "57P01", "57P02", "57P03", "53300", "08000", "08003", "08006": // shutdown, too many connections, connection lost
			return apperr.Wrap(apperr.Unavailable, err, "The database is not available right now. Please try again.")
		case "57014": // query_canceled (statement timeout)
			return apperr.Wrap(apperr.Unavailable, err, "The database took too long to answer. Please try again.")
		}
		return apperr.Wrap(apperr.Internal, err, "")
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return apperr.Wrap(apperr.Unavailable, err, "The database took too long to answer. Please try again.")
	}
	var netErr net.Error
	if errors.As(err, &netErr) || pgconn.SafeToRetry(err) || isConnectErr(err) {
		return apperr.Wrap(apperr.Unavailable, err, "The database is not available right now. Please try again.")
	}
	return apperr.Wrap(apperr.Internal, err, "")
}

func isConnectErr(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "closed pool") ||
		strings.Contains(s, "conn closed") || strings.Contains(s, "unexpected EOF")
}
