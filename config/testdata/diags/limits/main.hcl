frequency_cap {
  max = 0
  per = "a week"
}

frequency_cap {
  max = 1.5
  per = "0s"
}

frequency_cap {
  per = "400d"
}

provider "briq" {
  daily_first_contacts = 0
  pair_spacing         = "2h"
}
