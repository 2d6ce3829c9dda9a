# Quickstart: one approved WhatsApp template to the customers who opted in.
#
#   ujumbe validate        # checks this file and customers.csv, sends nothing
#   ujumbe plan -sandbox   # rehearse against the embedded sandbox

variable "discount" {
  type    = string
  default = "20%"
}

provider "briq" {
  # The API key comes from BRIQ_API_KEY in the environment.
  rate = 20
}

recipients "customers" {
  csv            = "customers.csv"
  phone          = row.phone
  key            = row.customer_id
  where          = row.opt_in == "yes"
  default_region = "TZ" # for numbers written without +255
}

campaign "welcome" {
  recipients = recipients.customers

  message "hello" {
    template = "welcome_offer"
    variables = {
      "1" = coalesce(row.first_name, "there")
      "2" = var.discount
    }
  }
}
