package demo

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"sync"
)

// faviconSVG is the shop's icon: a shopping bag.
const faviconSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">` +
	`<rect x="4" y="9" width="24" height="20" rx="4" fill="#0a6b3c"/>` +
	`<path d="M11 12V8a5 5 0 0 1 10 0v4" stroke="#0a6b3c" stroke-width="3" fill="none"/>` +
	`<circle cx="16" cy="19" r="4" fill="#0ee06e"/></svg>`

// faviconICO is the same icon for browsers that ask for /favicon.ico: a
// 32×32 PNG in an ICO container, drawn on first use (encoding it at
// start-up cost every process of the binary a megabyte of garbage).
var faviconICO = sync.OnceValue(func() []byte {
	const n = 32
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	dark, light := color.NRGBA{0x0a, 0x6b, 0x3c, 0xff}, color.NRGBA{0x0e, 0xe0, 0x6e, 0xff}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			dx, dy := x-16, y-19
			switch {
			case dx*dx+dy*dy <= 16:
				img.Set(x, y, light)
			case x >= 4 && x < 28 && y >= 9 && y < 29:
				img.Set(x, y, dark)
			case y >= 3 && y < 9 && (x == 11 || x == 12 || x == 19 || x == 20):
				img.Set(x, y, dark)
			case y >= 3 && y < 5 && x >= 11 && x <= 20:
				img.Set(x, y, dark)
			}
		}
	}
	var p bytes.Buffer
	_ = png.Encode(&p, img)
	var b bytes.Buffer
	// ICONDIR, one ICONDIRENTRY, then the PNG.
	_ = binary.Write(&b, binary.LittleEndian, [3]uint16{0, 1, 1})
	b.Write([]byte{n, n, 0, 0})
	_ = binary.Write(&b, binary.LittleEndian, [2]uint16{1, 32})
	_ = binary.Write(&b, binary.LittleEndian, [2]uint32{uint32(p.Len()), 6 + 16})
	b.Write(p.Bytes())
	return b.Bytes()
})

func favicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=86400")
	if r.URL.Path == "/favicon.svg" {
		w.Header().Set("Content-Type", "image/svg+xml")
		_, _ = w.Write([]byte(faviconSVG))
		return
	}
	w.Header().Set("Content-Type", "image/x-icon")
	_, _ = w.Write(faviconICO())
}
