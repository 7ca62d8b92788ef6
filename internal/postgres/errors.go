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
var uniqueFields = map[string]string{
	"districts_code_key":            "code",
	"settlements_district_name_key": "name",
	"units_call_sign_key":           "call_sign",
	"incident_types_code_key":       "code",
	"priorities_pkey":               "level",
	"dispositions_code_key":         "code",
	"partner_orgs_name_key":         "name",
	"users_username_key":            "username",
}

// notFound are the catalogue IDs of "No such ..." by the noun mapErr is
// given; other nouns get "No such record."
var notFound = map[string]string{
	"":                 "db.err.not_found.record",
	"record":           "db.err.not_found.record",
	"district":         "db.err.not_found.district",
	"settlement":       "db.err.not_found.settlement",
	"unit":             "db.err.not_found.unit",
	"incident type":    "db.err.not_found.incident_type",
	"priority":         "db.err.not_found.priority",
	"disposition":      "db.err.not_found.disposition",
	"organisation":     "db.err.not_found.organisation",
	"user":             "db.err.not_found.user",
	"incident":         "db.err.not_found.incident",
	"protection order": "db.err.not_found.protection_order",
	"question":         "db.err.not_found.question",
	"referral":         "db.err.not_found.referral",
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
		id, ok := notFound[what]
		if !ok {
			id = notFound[""]
		}
		return apperr.Wrap(apperr.NotFound, err, id)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Keep only the SQLSTATE and constraint for logs: a PostgreSQL
		// message or detail can quote the values, and values are personal.
		err = fmt.Errorf("postgres error %s (constraint %q)", pgErr.Code, pgErr.ConstraintName)
		switch pgErr.Code {
		case "23505": // unique_violation
			if field, ok := uniqueFields[pgErr.ConstraintName]; ok {
				id := "db.err.unique." + pgErr.ConstraintName
				return &apperr.Error{Code: apperr.Conflict, Message: id, Fields: map[string]apperr.Msg{field: apperr.M(id)}, Err: err}
			}
			return apperr.Wrap(apperr.Conflict, err, "db.err.exists")
		case "23503": // foreign_key_violation
			if strings.Contains(pgErr.Message, "update or delete") {
				return apperr.Wrap(apperr.Conflict, err, "db.err.in_use")
			}
			return apperr.Wrap(apperr.Invalid, err, "db.err.missing_ref")
		case "23514", "22001", "22003", "23502": // check, string too long, out of range, not null
			return apperr.Wrap(apperr.Invalid, err, "db.err.refused")
		case "40001", "40P01": // serialization failure, deadlock
			return apperr.Wrap(apperr.Conflict, err, "db.err.concurrent")
		case "57P01", "57P02", "57P03", "53300", "08000", "08003", "08006": // shutdown, too many connections, connection lost
			return apperr.Wrap(apperr.Unavailable, err, "db.err.unavailable")
		case "57014": // query_canceled (statement timeout)
			return apperr.Wrap(apperr.Unavailable, err, "db.err.timeout")
		}
		return apperr.Wrap(apperr.Internal, err, "")
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return apperr.Wrap(apperr.Unavailable, err, "db.err.timeout")
	}
	var netErr net.Error
	if errors.As(err, &netErr) || pgconn.SafeToRetry(err) || isConnectErr(err) {
		return apperr.Wrap(apperr.Unavailable, err, "db.err.unavailable")
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
