package store_test

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// LAYOUT.md must list every key the program writes: every key that a
// method of store.Keys names, with its placeholders as written there.
func TestLayoutListsEveryKey(t *testing.T) {
	doc, err := os.ReadFile("LAYOUT.md")
	if err != nil {
		t.Fatal(err)
	}
	k, err := store.NewKeys("P")
	if err != nil {
		t.Fatal(err)
	}
	idem, order, shard, link := k.Idempotency("scope", "key"), k.Order("<id>"), k.Shard(0), k.PayLink("<sha256 of token>")
	byMethod := map[string][]string{
		"Idempotency":        {idem.Record, idem.Lock},
		"Order":              {order.Order, order.Dedupe, order.Log, order.Open, order.Outbox, order.Dead},
		"Shard":              {shard.Open, shard.Outbox, shard.Dead, shard.Fails},
		"MessageIDIndex":     {k.MessageIDIndex("<messageid>")},
		"TrustlyOrderIndex":  {k.TrustlyOrderIndex("<orderid>")},
		"ReferenceIndex":     {k.ReferenceIndex("<extref>")},
		"Accounts":           {k.Accounts("<enduserid>")},
		"Unrouted":           {k.Unrouted("<nid>")},
		"UnroutedIndex":      {k.UnroutedIndex()},
		"Balance":            {k.Balance()},
		"BalanceSlot":        {k.BalanceSlot()},
		"BalanceRefreshSlot": {k.BalanceRefreshSlot()},
		"PayLink":            {link.Record, link.Click},
		"PayLinkID":          {k.PayLinkID("<link id>")},
		"Marker":             {k.Marker()},
		"Sync":               {k.Sync("P:any:{<tag>}")},
		"Prefix":             nil, // not a key
	}
	typ := reflect.TypeFor[store.Keys]()
	for i := range typ.NumMethod() {
		if _, ok := byMethod[typ.Method(i).Name]; !ok {
			t.Errorf("store.Keys.%s is not checked against LAYOUT.md: add it here and there", typ.Method(i).Name)
		}
	}
	shardTag := regexp.MustCompile(`\{sh:\d\d\}`)
	listed := regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(string(doc), -1)
	for m, keys := range byMethod {
		for _, key := range keys {
			key = shardTag.ReplaceAllString(key, "{sh:NN}")
			if !slices.ContainsFunc(listed, func(l []string) bool { return strings.TrimSpace(l[1]) == key }) {
				t.Errorf("LAYOUT.md does not list %s (store.Keys.%s)", key, m)
			}
		}
	}
}
