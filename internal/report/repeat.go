package report

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"
)

// Repeat-rate groupings: every DV incident, by district, by IDP
// settlement ("" every other place), by the victim's sex ("" not
// recorded), by the victim's age band (AgeBands; "" not recorded).
const (
	RepeatByAll        = "all"
	RepeatByDistrict   = "district"
	RepeatBySettlement = "settlement"
	RepeatBySex        = "sex"
	RepeatByAge        = "age"
)

// RepeatGroupings are the repeat-rate groupings, in the order the
// dashboard shows them.
var RepeatGroupings = []string{RepeatByAll, RepeatByDistrict, RepeatBySettlement, RepeatBySex, RepeatByAge}

// RepeatWindow is how recent a victim's previous DV incident makes a
// repeat: 365 days of 24 hours.
const RepeatWindow = 365 * 24 * time.Hour

// RepeatFigure is one group of the repeat-victimisation figures (issue
// 16): of the DV incidents a query selects, how many had a victim with an
// earlier DV incident in the 365 days before, and the median days since
// her previous DV incident.
type RepeatFigure struct {
	Key, Label string
	Incidents  int      // DV incidents in the group
	Repeats    int      // of them, with an earlier DV incident of the victim in the 365 days before
	MedianDays *float64 // median days since the victim's previous DV incident (nil: none had one)
}

// Share is Repeats / Incidents (0 without incidents).
func (r RepeatFigure) Share() float64 {
	if r.Incidents == 0 {
		return 0
	}
	return float64(r.Repeats) / float64(r.Incidents)
}

// repeatRow is one group as exported.
type repeatRow struct {
	Key         string   `json:"key"`
	Label       string   `json:"label"`
	DVIncidents int      `json:"dv_incidents"`
	Repeats     int      `json:"repeats"`
	Share       float64  `json:"share"`
	MedianDays  *float64 `json:"median_days"`
}

// EncodeRepeat writes the figures of q grouped by by in format f: the
// web export's and the command line's one encoding.
func EncodeRepeat(w io.Writer, q Query, by string, figs []RepeatFigure, f Format) error {
	rows := make([]repeatRow, 0, len(figs))
	for _, x := range figs {
		rows = append(rows, repeatRow{Key: x.Key, Label: x.Label, DVIncidents: x.Incidents, Repeats: x.Repeats,
			Share: x.Share(), MedianDays: x.MedianDays})
	}
	if f != CSV {
		return json.NewEncoder(w).Encode(map[string]any{"from": q.From.String(), "to": q.To.String(), "repeat_by": by, "groups": rows})
	}
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"key", "label", "dv_incidents", "repeats", "share", "median_days"}); err != nil {
		return err
	}
	for _, x := range rows {
		median := ""
		if x.MedianDays != nil {
			median = strconv.FormatFloat(*x.MedianDays, 'f', 1, 64)
		}
		if err := cw.Write([]string{x.Key, x.Label, strconv.Itoa(x.DVIncidents), strconv.Itoa(x.Repeats),
			strconv.FormatFloat(x.Share, 'f', 4, 64), median}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
