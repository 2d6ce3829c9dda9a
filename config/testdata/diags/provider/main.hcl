provider "briqq" {
}

provider "briq" {
  base_url         = "karibu.briq.tz"
  rate             = 0
  burst            = 1.5
  max_recipients   = -1
  opt_out_keywords = "STOP"
  sender           = 255700000001
}

provider "briq" {
}
