package page

import "strings"

// DeviceSummary turns a User-Agent header into a short description a
// person recognizes, like "Chrome on Linux" or "Safari on iPhone". It is
// deliberately small: it names the common browsers and systems and falls
// back to "Unknown browser" / "unknown device" rather than guessing.
func DeviceSummary(ua string) string {
	if len(ua) > 512 {
		ua = ua[:512]
	}
	b, os := browserName(ua), osName(ua)
	switch {
	case b == "" && os == "":
		return "Unknown device"
	case b == "":
		return "Browser on " + os
	case os == "":
		return b
	}
	return b + " on " + os
}

func browserName(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has("Edg/") || has("EdgA/") || has("EdgiOS/"):
		return "Edge"
	case has("OPR/") || has("Opera"):
		return "Opera"
	case has("SamsungBrowser/"):
		return "Samsung Internet"
	case has("Firefox/") || has("FxiOS/"):
		return "Firefox"
	case has("CriOS/"):
		return "Chrome"
	case has("Chromium/"):
		return "Chromium"
	case has("Chrome/"): // also HeadlessChrome
		return "Chrome"
	case has("Safari/") && has("Version/"):
		return "Safari"
	case strings.HasPrefix(ua, "curl/"):
		return "curl"
	}
	return ""
}

func osName(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has("iPhone"):
		return "iPhone"
	case has("iPad"):
		return "iPad"
	case has("Android"):
		return "Android"
	case has("CrOS"):
		return "ChromeOS"
	case has("Windows"):
		return "Windows"
	case has("Mac OS X") || has("Macintosh"):
		return "macOS"
	case has("Linux") || has("X11"):
		return "Linux"
	}
	return ""
}
