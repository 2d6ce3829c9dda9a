recipients "customers" {
  csv   = "customers.csv"
  phone = row.phone
}

campaign "kinds" {
  recipients = recipients.customers

  message "none" {
  }

  message "two" {
    template = "welcome"
    text     = "Hello"
  }

  message "first_text" {
    text = "Hello without a template"
  }

  message "vars_without_template" {
    after     = message.two
    text      = "Hi"
    variables = { "1" = "x" }
  }

  message "media_twice" {
    after = message.two
    media {
      kind = "IMAGE"
      url  = "https://example.com/a.png"
    }
    media {
      kind = "IMAGE"
      url  = "https://example.com/b.png"
    }
  }

  message "bad_media" {
    after = message.two
    media {
      kind     = "AUDIO"
      url      = "http://example.com/a.mp3"
      filename = "a.mp3"
    }
  }

  message "image_filename" {
    after = message.two
    media {
      kind     = "image"
      url      = "ftp://example.com/a.png"
      filename = "a.png"
    }
  }
}

campaign "empty" {
  recipients = recipients.customers
}
